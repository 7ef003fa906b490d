"""The local services one host runs and how Éxmado reaches them: the private Redis
(`localredis`, its password in `redis_secret`), supervisord (`supervision`, its programs'
states in `stack_health`), processes seen through /proc (`processes`), the queue's names
(`queue`: the only domain module that knows Dramatiq), and the workers' figures
(`metrics_files`, `worker_facts`).
"""
