package servicedns

import (
	"os"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
