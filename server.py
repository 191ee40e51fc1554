"""WSGI entry point: ``gunicorn server:app``, or ``python server.py`` to serve on port 8000."""

from hodo.web import create_app

app = create_app()

if __name__ == "__main__":
    from hodo.cli import run_gunicorn

    run_gunicorn(app, "127.0.0.1", 8000, 2)
