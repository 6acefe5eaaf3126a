"""Routers shared with other projects: included with options given by the app."""
