from nuvom import task

QUEUE = "computed"


@task
def bare():
    pass


@task(
    name="emails.send",
    queue="mail",
    retries=3,
    timeout_secs=30,
    tags=["io", "mail"],
    description="Send one email.",
)
async def send_email(to):
    pass


@task(queue=QUEUE, retries=int("2"))
def dynamic_options():
    pass


class Handlers:
    @task
    def method(self):
        pass


def plain():
    pass
