package service

// ParkedPolls counts the long-polls waiting on this server for a hand-off.
func (s *Service) ParkedPolls() int {
	s.parked.mu.Lock()
	defer s.parked.mu.Unlock()
	return len(s.parked.m)
}
