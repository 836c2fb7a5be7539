from nuvom import task


@task
def kept():
    pass
