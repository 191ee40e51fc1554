"""WSGI entry point: ``gunicorn server:app``, or ``python server.py`` to serve on port 8000."""

from hodo.web import create_app

app = create_app()

if __name__ == "__main__":
    from hodo.web.wsgi import run

    run(app, "127.0.0.1", 8000, 2)
