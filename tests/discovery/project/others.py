from celery import Celery

app = Celery()


@app.task
def celery_job():
    pass


def task(fn):
    return fn


@task
def local_decorator():
    pass
