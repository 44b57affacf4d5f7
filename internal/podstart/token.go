package podstart

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TokenRequester issues tokens with the Kubernetes TokenRequest API
// (serviceaccounts/<name>/token), as the kubelet does for projected serviceAccountToken sources:
// for the Pod's service account, bound to the Pod (the API server invalidates it when the Pod is
// deleted), for the projection's audience (the API server's own when empty) and expiry. The
// caller needs RBAC create on serviceaccounts/token.
type TokenRequester struct {
	Client client.SubResourceClientConstructor
}

var _ TokenSource = TokenRequester{}

// Token implements TokenSource.
func (t TokenRequester) Token(ctx context.Context, pod *corev1.Pod, audience string, expirationSeconds int64) (*Token, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &expirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if audience != "" {
		tr.Spec.Audiences = []string{audience}
	}
	account := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: sa}}
	if err := t.Client.SubResource("token").Create(ctx, account, tr); err != nil {
		return nil, fmt.Errorf("TokenRequest for service account %s/%s bound to pod %s: %w", pod.Namespace, sa, pod.Name, err)
	}
	return &Token{Value: tr.Status.Token, Expiry: tr.Status.ExpirationTimestamp.Time}, nil
}
