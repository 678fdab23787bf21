"""The FastAPI app: routes, websockets, auth, and the widget, console and editor pages."""
