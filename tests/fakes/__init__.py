"""Fake external services for tests and benchmarks: real servers on loopback that speak the real
protocol (SMTP, HTTP JSON) and can fail on demand."""
