package api_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// BenchmarkAPI measures the API alone (fake engine, real HTTP, SigV4, bbolt) per call through the
// SDK, and reports the median and 99th percentile.
func BenchmarkAPI(b *testing.B) {
	for name, call := range map[string]func(*env) error{
		"RunTask": func(e *env) error {
			_, err := e.ecs.RunTask(context.Background(), &ecs.RunTaskInput{TaskDefinition: aws.String("web")})
			return err
		},
		"DescribeTasks": func(e *env) error {
			_, err := e.ecs.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: e.benchTasks})
			return err
		},
		"DescribeServices": func(e *env) error {
			_, err := e.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Services: []string{"api"}})
			return err
		},
		"RegisterTaskDefinition": func(e *env) error {
			_, err := e.ecs.RegisterTaskDefinition(context.Background(), web("bench"))
			return err
		},
	} {
		b.Run(name, func(b *testing.B) {
			e := newBenchEnv(b)
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				if err := call(e); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

func newBenchEnv(b *testing.B) *env {
	e := newEnv(b)
	ctx := context.Background()
	if _, err := e.ecs.RegisterTaskDefinition(ctx, web("web")); err != nil {
		b.Fatal(err)
	}
	_, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("api"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)})
	if err != nil {
		b.Fatal(err)
	}
	// One task to describe, as the data plane benchmark's poller describes a starting one.
	run, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web")})
	if err != nil {
		b.Fatal(err)
	}
	e.benchTasks = []string{aws.ToString(run.Tasks[0].TaskArn)}
	return e
}
