"""{{ cookiecutter.project_name }}: settings, URLs, WSGI/ASGI entry points and project-wide commands."""
