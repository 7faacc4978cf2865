"""A bare Flask app answering "hello": the ceiling bench/http.sh measures the API against.

Same Flask, same gunicorn settings, no database: what is left is the cost of the stack itself.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello():
    return "hello"
