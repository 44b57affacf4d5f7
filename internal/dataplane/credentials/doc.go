// Package credentials gives the local data plane its own AWS credentials: generated on first start,
// written in the AWS shared-credentials format under a profile named "nodeless" (mode 0600), and
// loaded again on every later start. Any AWS client pointed at the file with that profile signs
// requests the data plane accepts:
//
//	AWS_SHARED_CREDENTIALS_FILE=STATE_DIR/credentials aws --profile nodeless --region us-east-1 \
//	    --endpoint-url http://127.0.0.1:8944 ecs list-clusters
package credentials
