package status

// withLimits replaces the HTTP server's timeouts and connection cap, which
// the binary has no flags for: tests shorten them to see them act.
func (s *Server) withLimits(l limits) *Server {
	s.lim = l
	return s
}
