package framework

// Snapshot is the cluster as one scheduling cycle sees it: a NodeInfo per node, in a stable
// order, plus the nodes that carry pods with inter-pod affinity (so the symmetric affinity
// rules look at those only). The cache brings it up to date before each cycle by copying just
// the nodes that changed; plugins only read it.
type Snapshot struct {
	NodeInfoMap map[string]*NodeInfo
	// NodeInfoList is every node, in the cache's node order.
	NodeInfoList []*NodeInfo
	// HavePodsWithAffinityList and HavePodsWithRequiredAntiAffinityList are the nodes with at
	// least one pod with (anti-)affinity of any kind / with required anti-affinity.
	HavePodsWithAffinityList             []*NodeInfo
	HavePodsWithRequiredAntiAffinityList []*NodeInfo
	// Generation is the cache generation the snapshot is at.
	Generation int64
}

// NewEmptySnapshot returns a snapshot with no nodes.
func NewEmptySnapshot() *Snapshot {
	return &Snapshot{NodeInfoMap: map[string]*NodeInfo{}}
}

// NewSnapshot builds a snapshot from NodeInfos directly (for tests and tools).
func NewSnapshot(nodes ...*NodeInfo) *Snapshot {
	s := NewEmptySnapshot()
	for _, n := range nodes {
		s.NodeInfoMap[n.Name()] = n
		s.NodeInfoList = append(s.NodeInfoList, n)
	}
	s.RebuildAffinityLists()
	return s
}

// RebuildAffinityLists recomputes the affinity subsets from NodeInfoList.
func (s *Snapshot) RebuildAffinityLists() {
	s.HavePodsWithAffinityList = s.HavePodsWithAffinityList[:0]
	s.HavePodsWithRequiredAntiAffinityList = s.HavePodsWithRequiredAntiAffinityList[:0]
	for _, n := range s.NodeInfoList {
		if len(n.PodsWithAffinity) > 0 {
			s.HavePodsWithAffinityList = append(s.HavePodsWithAffinityList, n)
		}
		if len(n.PodsWithRequiredAntiAffinity) > 0 {
			s.HavePodsWithRequiredAntiAffinityList = append(s.HavePodsWithRequiredAntiAffinityList, n)
		}
	}
}

// Get returns the NodeInfo of a node, nil if unknown.
func (s *Snapshot) Get(name string) *NodeInfo { return s.NodeInfoMap[name] }

// NumNodes is the number of nodes.
func (s *Snapshot) NumNodes() int { return len(s.NodeInfoList) }
