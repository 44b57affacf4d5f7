package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	amzDateFormat  = "20060102T150405Z"
	// maxSkew is how far a request's X-Amz-Date may be from the server's clock, as AWS allows.
	maxSkew = 5 * time.Minute
)

// authHeader is a parsed SigV4 Authorization header.
type authHeader struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

// verifySignature checks the request's SigV4 signature against the server's credentials, scoped
// to the server's region and to service (ecs, or secretsmanager for the secret store).
func (s *Server) verifySignature(r *http.Request, body []byte, service string) error {
	raw := r.Header.Get("Authorization")
	if raw == "" {
		return newError(errMissingAuthentication,
			"Missing Authentication Token: sign requests with SigV4 using the credentials nodeless wrote (profile nodeless)")
	}
	h, err := parseAuthHeader(raw)
	if err != nil {
		return err
	}
	if h.accessKey != s.creds.AccessKeyID {
		return newError(errUnrecognizedClient,
			"The security token included in the request is invalid: access key %s is not this data plane's; use the credentials nodeless wrote (profile nodeless)", h.accessKey)
	}
	when, err := s.checkDate(r, h)
	if err != nil {
		return err
	}
	if h.service != service || h.region != s.arns.Region {
		return newError(errInvalidSignature,
			"Credential should be scoped to region %s and service %s, not %s/%s", s.arns.Region, service, h.region, h.service)
	}
	want := s.signature(r, body, h, when)
	got, err := hex.DecodeString(h.signature)
	if err != nil || !hmac.Equal(want, got) {
		return newError(errInvalidSignature,
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return nil
}

func parseAuthHeader(raw string) (authHeader, error) {
	alg, rest, _ := strings.Cut(raw, " ")
	if alg != sigV4Algorithm {
		return authHeader{}, newError(errIncompleteSignature, "unsupported signature algorithm %q: use %s", alg, sigV4Algorithm)
	}
	var h authHeader
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			scope := strings.Split(v, "/")
			if len(scope) != 5 || scope[4] != "aws4_request" {
				return authHeader{}, newError(errIncompleteSignature, "malformed Credential %q: want KEY/DATE/REGION/SERVICE/aws4_request", v)
			}
			h.accessKey, h.date, h.region, h.service = scope[0], scope[1], scope[2], scope[3]
		case "SignedHeaders":
			h.signedHeaders = strings.Split(v, ";")
		case "Signature":
			h.signature = v
		}
	}
	if h.accessKey == "" || len(h.signedHeaders) == 0 || h.signature == "" {
		return authHeader{}, newError(errIncompleteSignature,
			"Authorization header requires Credential, SignedHeaders and Signature")
	}
	return h, nil
}

func (s *Server) checkDate(r *http.Request, h authHeader) (time.Time, error) {
	raw := r.Header.Get("X-Amz-Date")
	when, err := time.Parse(amzDateFormat, raw)
	if err != nil {
		return time.Time{}, newError(errIncompleteSignature, "X-Amz-Date %q: want a signed date like 20060102T150405Z", raw)
	}
	if !slices.Contains(h.signedHeaders, "x-amz-date") || !slices.Contains(h.signedHeaders, "host") {
		return time.Time{}, newError(errIncompleteSignature, "SignedHeaders must include host and x-amz-date")
	}
	if when.Format("20060102") != h.date {
		return time.Time{}, newError(errInvalidSignature, "Date in Credential scope %s does not match X-Amz-Date %s", h.date, raw)
	}
	now := s.clock.Now().UTC()
	if when.Before(now.Add(-maxSkew)) {
		return time.Time{}, newError(errInvalidSignature, "Signature expired: %s is now earlier than %s (%s - 5 min.)",
			raw, now.Add(-maxSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	}
	if when.After(now.Add(maxSkew)) {
		return time.Time{}, newError(errInvalidSignature, "Signature not yet current: %s is still later than %s (%s + 5 min.)",
			raw, now.Add(maxSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	}
	return when, nil
}

// signature computes the SigV4 signature the request should carry.
func (s *Server) signature(r *http.Request, body []byte, h authHeader, when time.Time) []byte {
	payload := sha256.Sum256(body)
	canonical := strings.Join([]string{
		r.Method,
		canonicalURI(r.URL),
		canonicalQuery(r.URL),
		canonicalHeaders(r, h.signedHeaders),
		strings.Join(h.signedHeaders, ";"),
		hex.EncodeToString(payload[:]),
	}, "\n")
	scope := strings.Join([]string{h.date, h.region, h.service, "aws4_request"}, "/")
	crHash := sha256.Sum256([]byte(canonical))
	toSign := strings.Join([]string{sigV4Algorithm, when.Format(amzDateFormat), scope, hex.EncodeToString(crHash[:])}, "\n")
	key := hmacSHA256([]byte("AWS4"+s.creds.SecretAccessKey), h.date)
	for _, part := range []string{h.region, h.service, "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	return hmacSHA256(key, toSign)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		segs[i] = uriEncode(seg)
	}
	return strings.Join(segs, "/")
}

func canonicalQuery(u *url.URL) string {
	q := u.Query()
	pairs := make([]string, 0, len(q))
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, uriEncode(k)+"="+uriEncode(v))
		}
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "&")
}

// uriEncode encodes everything but RFC 3986 unreserved characters.
func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		b.WriteString(name + ":" + headerValue(r, name) + "\n")
	}
	return b.String()
}

func headerValue(r *http.Request, name string) string {
	switch name {
	case "host":
		return r.Host
	case "content-length":
		if v := r.Header.Get("Content-Length"); v != "" {
			return v
		}
		return strconv.FormatInt(r.ContentLength, 10)
	}
	vs := r.Header.Values(name)
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}
