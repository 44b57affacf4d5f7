package podstart

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

// TestFilesContainerLogs: with awslogs configured, nodeless's files container sends its output
// where the Pod's containers send theirs; without, it has no log configuration either.
func TestFilesContainerLogs(t *testing.T) {
	logs := translate.Options{ExecutionRoleArn: "arn:aws:iam::123456789012:role/exec",
		Logs: &translate.AWSLogs{Group: "/nodeless/prod", Region: "eu-west-1"}}
	for name, opts := range map[string]translate.Options{"local": {}, "awslogs": logs} {
		t.Run(name, func(t *testing.T) {
			f := newFixture()
			f.deps.Options = opts
			st, err := f.resolve(t, withFiles(rsPod("web-5d8f7c-aaaaa", "uid-a")))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]string{}
			for _, c := range st.TaskDefinition.ContainerDefinitions {
				if c.LogConfiguration == nil {
					got[aws.ToString(c.Name)] = nil
					continue
				}
				got[aws.ToString(c.Name)] = c.LogConfiguration.Options
			}
			lc := translate.LogConfiguration(opts, "shop")
			var each map[string]string
			if lc != nil {
				each = lc.Options
			}
			if d := cmp.Diff(map[string]map[string]string{FilesContainer: each, "app": each}, got); d != "" {
				t.Errorf("log options by container (-want +got):\n%s", d)
			}
		})
	}
}
