"""The local services one host runs and how Éxmado reaches them: the private Redis and its
password (`localredis`), supervisord, its programs' states, the workers' counter files and
the processes seen through /proc (`supervision`), the queue's names (`queue`: the
only domain module that knows Dramatiq), and the workers' figures (`worker_facts`).
"""
