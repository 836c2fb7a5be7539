from nuvom import task


@task
def before_shadowing():
    pass


def helper(fn):
    return fn


task = helper  # from here on, `task` is no longer Nuvom's


@task
def not_a_task():
    pass
