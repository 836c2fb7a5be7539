from nuvom import task


@task(queue="workers")
def package_task():
    pass
