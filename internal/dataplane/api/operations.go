package api

// operations is the dispatch table: X-Amz-Target operation name → handler.
func (s *Server) operations() map[string]operation {
	return map[string]operation{
		"CreateCluster":    handle(s, "CreateCluster", s.createCluster),
		"DescribeClusters": handle(s, "DescribeClusters", s.describeClusters),
		"ListClusters":     handle(s, "ListClusters", s.listClusters),
		"DeleteCluster":    handle(s, "DeleteCluster", s.deleteCluster),
		"UpdateCluster":    handle(s, "UpdateCluster", s.updateCluster),

		"UpdateClusterSettings": handle(s, "UpdateClusterSettings", s.updateClusterSettings),

		"PutClusterCapacityProviders": handle(s, "PutClusterCapacityProviders", s.putClusterCapacityProviders),

		"RegisterTaskDefinition":     handle(s, "RegisterTaskDefinition", s.registerTaskDefinition),
		"DescribeTaskDefinition":     handle(s, "DescribeTaskDefinition", s.describeTaskDefinition),
		"ListTaskDefinitions":        handle(s, "ListTaskDefinitions", s.listTaskDefinitions),
		"ListTaskDefinitionFamilies": handle(s, "ListTaskDefinitionFamilies", s.listTaskDefinitionFamilies),
		"DeregisterTaskDefinition":   handle(s, "DeregisterTaskDefinition", s.deregisterTaskDefinition),

		"RunTask":       handle(s, "RunTask", s.runTask),
		"StopTask":      handle(s, "StopTask", s.stopTask),
		"DescribeTasks": handle(s, "DescribeTasks", s.describeTasks),
		"ListTasks":     handle(s, "ListTasks", s.listTasks),

		"ExecuteCommand": handle(s, "ExecuteCommand", s.executeCommand),

		"CreateService":    handle(s, "CreateService", s.createService),
		"UpdateService":    handle(s, "UpdateService", s.updateService),
		"DeleteService":    handle(s, "DeleteService", s.deleteService),
		"DescribeServices": handle(s, "DescribeServices", s.describeServices),
		"ListServices":     handle(s, "ListServices", s.listServices),

		"TagResource":         handle(s, "TagResource", s.tagResource),
		"UntagResource":       handle(s, "UntagResource", s.untagResource),
		"ListTagsForResource": handle(s, "ListTagsForResource", s.listTagsForResource),
	}
}
