package api_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func TestClusters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	created := must[*ecs.CreateClusterOutput](t)(e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{
		ClusterName: aws.String("dev"), Tags: []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	}))
	if got, want := aws.ToString(created.Cluster.ClusterArn), "arn:aws:ecs:us-east-1:000000000000:cluster/dev"; got != want {
		t.Errorf("clusterArn %s, want %s", got, want)
	}
	if aws.ToString(created.Cluster.Status) != "ACTIVE" {
		t.Errorf("status %s", aws.ToString(created.Cluster.Status))
	}
	again := must[*ecs.CreateClusterOutput](t)(e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("dev")}))
	if aws.ToString(again.Cluster.ClusterArn) != aws.ToString(created.Cluster.ClusterArn) {
		t.Errorf("CreateCluster of an existing cluster returned %s", aws.ToString(again.Cluster.ClusterArn))
	}

	desc := must[*ecs.DescribeClustersOutput](t)(e.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{
		Clusters: []string{"dev", "arn:aws:ecs:us-east-1:000000000000:cluster/dev", "nope"},
		Include:  []ecstypes.ClusterField{ecstypes.ClusterFieldTags},
	}))
	if len(desc.Clusters) != 2 || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" {
		t.Fatalf("describe: %d clusters, failures %+v", len(desc.Clusters), desc.Failures)
	}
	if diff := cmp.Diff([]string{"team=a"}, tagStrings(desc.Clusters[0].Tags)); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	// the default cluster is created when a call names none
	def := must[*ecs.DescribeClustersOutput](t)(e.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{}))
	if len(def.Clusters) != 1 || aws.ToString(def.Clusters[0].ClusterName) != "default" {
		t.Fatalf("default cluster: %+v %+v", def.Clusters, def.Failures)
	}

	list := must[*ecs.ListClustersOutput](t)(e.ecs.ListClusters(ctx, &ecs.ListClustersInput{MaxResults: aws.Int32(1)}))
	if len(list.ClusterArns) != 1 || list.NextToken == nil {
		t.Fatalf("page 1: %v %v", list.ClusterArns, list.NextToken)
	}
	list2 := must[*ecs.ListClustersOutput](t)(e.ecs.ListClusters(ctx, &ecs.ListClustersInput{MaxResults: aws.Int32(1), NextToken: list.NextToken}))
	if len(list2.ClusterArns) != 1 || list2.NextToken != nil || list2.ClusterArns[0] == list.ClusterArns[0] {
		t.Fatalf("page 2: %v %v", list2.ClusterArns, list2.NextToken)
	}

	del := must[*ecs.DeleteClusterOutput](t)(e.ecs.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("dev")}))
	if aws.ToString(del.Cluster.Status) != "INACTIVE" {
		t.Errorf("deleted cluster status %s", aws.ToString(del.Cluster.Status))
	}
	_, err := e.ecs.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("dev")})
	wantAPIError(t, err, "ClusterNotFoundException", "dev")
	all := must[*ecs.ListClustersOutput](t)(e.ecs.ListClusters(ctx, &ecs.ListClustersInput{}))
	if len(all.ClusterArns) != 1 {
		t.Errorf("ListClusters after delete: %v", all.ClusterArns)
	}
}

func TestClusterErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		call  func() error
		code  string
		parts []string
	}{
		"bad name": {func() error {
			_, err := e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("no spaces")})
			return err
		}, "InvalidParameterException", []string{"clusterName", "letters"}},
		"reserved tag": {func() error {
			_, err := e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("x"), Tags: []ecstypes.Tag{{Key: aws.String("aws:x"), Value: aws.String("")}}})
			return err
		}, "InvalidParameterException", []string{"tags[0].key"}},
		"maxResults": {func() error {
			_, err := e.ecs.ListClusters(ctx, &ecs.ListClustersInput{MaxResults: aws.Int32(101)})
			return err
		}, "InvalidParameterException", []string{"maxResults"}},
		"nextToken": {func() error {
			_, err := e.ecs.ListClusters(ctx, &ecs.ListClustersInput{NextToken: aws.String("garbage")})
			return err
		}, "InvalidParameterException", []string{"nextToken"}},
		"delete missing": {func() error {
			_, err := e.ecs.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("missing")})
			return err
		}, "ClusterNotFoundException", []string{"missing"}},
		"describe bad arn": {func() error {
			_, err := e.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"arn:aws:ecs:us-east-1:0:service/a/b"}})
			return err
		}, "InvalidParameterException", []string{"clusters[0]"}},
	} {
		t.Run(name, func(t *testing.T) { wantAPIError(t, tc.call(), tc.code, tc.parts...) })
	}
}

func tagStrings(tags []ecstypes.Tag) []string {
	var out []string
	for _, t := range tags {
		out = append(out, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	return out
}

// TestUpdateClusterSettings: UpdateClusterSettings and UpdateCluster change settings in place by
// name and keep the cluster's tags; values outside the model's are refused by name, and so are the
// UpdateCluster members the local data plane cannot honour.
func TestUpdateClusterSettings(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	created := must[*ecs.CreateClusterOutput](t)(e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{
		ClusterName: aws.String("dev"), Tags: []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	}))
	insights := func(v string) []ecstypes.ClusterSetting {
		return []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String(v)}}
	}
	out := must[*ecs.UpdateClusterSettingsOutput](t)(e.ecs.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{
		Cluster: aws.String("dev"), Settings: insights("enabled"),
	}))
	if diff := cmp.Diff([]string{"containerInsights=enabled"}, settingStrings(out.Cluster.Settings)); diff != "" {
		t.Errorf("UpdateClusterSettings answer (-want +got):\n%s", diff)
	}
	up := must[*ecs.UpdateClusterOutput](t)(e.ecs.UpdateCluster(ctx, &ecs.UpdateClusterInput{
		Cluster: created.Cluster.ClusterArn, Settings: insights("enhanced"),
	}))
	if diff := cmp.Diff([]string{"containerInsights=enhanced"}, settingStrings(up.Cluster.Settings)); diff != "" {
		t.Errorf("UpdateCluster answer (-want +got):\n%s", diff)
	}
	desc := must[*ecs.DescribeClustersOutput](t)(e.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{
		Clusters: []string{"dev"}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldSettings, ecstypes.ClusterFieldTags},
	}))
	got := append(settingStrings(desc.Clusters[0].Settings), tagStrings(desc.Clusters[0].Tags)...)
	if diff := cmp.Diff([]string{"containerInsights=enhanced", "team=a"}, got); diff != "" {
		t.Errorf("described settings and tags (-want +got):\n%s", diff)
	}

	_, err := e.ecs.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String("dev"), Settings: insights("on")})
	wantAPIError(t, err, "InvalidParameterException", "settings[0].value", "on")
	_, err = e.ecs.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("missing"), Settings: insights("enabled")})
	wantAPIError(t, err, "ClusterNotFoundException", "missing")
	_, err = e.ecs.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("dev"),
		ServiceConnectDefaults: &ecstypes.ClusterServiceConnectDefaultsRequest{Namespace: aws.String("a/b")}})
	wantAPIError(t, err, "InvalidParameterException", "serviceConnectDefaults.namespace", "a/b")
}

func settingStrings(settings []ecstypes.ClusterSetting) []string {
	var out []string
	for _, s := range settings {
		out = append(out, string(s.Name)+"="+aws.ToString(s.Value))
	}
	return out
}
