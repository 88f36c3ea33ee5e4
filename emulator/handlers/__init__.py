"""Training API handlers, one module per resource; each turns a request into a store call and JSON."""
