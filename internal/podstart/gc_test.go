package podstart

import (
	"context"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/secretsapi"
)

func TestOwnerAlive(t *testing.T) {
	alive := OwnerAlive(&reader{objs: testObjects()})
	for _, tc := range []struct {
		owner secretsapi.Owner
		want  bool
	}{
		{secretsapi.Owner{Kind: "Secret", Namespace: "shop", Name: "db", UID: "db-uid"}, true},
		{secretsapi.Owner{Kind: "Secret", Namespace: "shop", Name: "db", UID: "an-older-db"}, false},
		{secretsapi.Owner{Kind: "ConfigMap", Namespace: "shop", Name: "gone", UID: "x"}, false},
		{secretsapi.Owner{Kind: "Widget", Namespace: "shop", Name: "w", UID: "x"}, true},
	} {
		got, err := alive(context.Background(), tc.owner)
		if err != nil || got != tc.want {
			t.Errorf("%+v: %v, %v; want %v", tc.owner, got, err, tc.want)
		}
	}
}
