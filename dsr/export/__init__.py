"""Export logic per data category; each function takes a client and a sink and returns a CategoryResult."""
