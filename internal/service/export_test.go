package service

// ParkedPolls counts the long-polls waiting on this server for a hand-off.
func (s *Service) ParkedPolls() int {
	s.parked.mu.Lock()
	defer s.parked.mu.Unlock()
	return len(s.parked.m)
}

// ParkedPollOf is the long-poll of the instance waiting on this server
// (nil for none), to tell a gateway's polls apart.
func (s *Service) ParkedPollOf(instanceID string) any {
	s.parked.mu.Lock()
	defer s.parked.mu.Unlock()
	if p := s.parked.m[instanceID]; p != nil {
		return p
	}
	return nil
}
