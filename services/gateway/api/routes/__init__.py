"""Route modules; each is a screenful: parse, call a repository, shape the response."""
