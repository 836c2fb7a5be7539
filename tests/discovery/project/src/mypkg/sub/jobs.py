from nuvom.task import task


@task(retries=2)
async def nested():
    pass
