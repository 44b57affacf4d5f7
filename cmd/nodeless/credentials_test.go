package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// TestControllerUsesTheSDKsDefaultChain: `nodeless controller` gives ecsapi no keys, so the
// SDK's default chain finds them; here EKS Pod Identity's (the container credentials endpoint
// and its token file, as the Pod Identity agent's webhook sets them), whose keys sign the ECS call.
func TestControllerUsesTheSDKsDefaultChain(t *testing.T) {
	const token = "pod-identity-token"
	creds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != token {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId": "AKIAPODIDENTITY", "SecretAccessKey": "secret", "Token": "session",
			"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		})
	}))
	defer creds.Close()
	var signedBy string
	ecsServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		signedBy = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte("{}"))
	}))
	defer ecsServer.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": creds.URL, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	client, err := ecsapi.NewClient(context.Background(), ecsapi.Options{Endpoint: ecsServer.URL, Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(signedBy, "Credential=AKIAPODIDENTITY/") {
		t.Errorf("the ECS call was signed with %q, want the Pod Identity keys AKIAPODIDENTITY", signedBy)
	}
}
