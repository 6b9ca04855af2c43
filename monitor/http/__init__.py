"""The operator's HTTP side: health, readiness, Prometheus metrics and a read-only status page.

Off unless ``http.listen`` is set; served by uvicorn inside the daemon's event loop.
"""
