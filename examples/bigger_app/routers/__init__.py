"""The app's routers, one module each."""
