"""Tasks for the quickstart. Run a worker for them with: nuvom runworker --import tasks."""

from nuvom import task


@task
def add(a: int, b: int) -> int:
    return a + b


@task(retries=2, retry_delay_secs=0.5, queue="default", tags=["io"], description="Fetch a page length")
def word_count(text: str) -> int:
    return len(text.split())
