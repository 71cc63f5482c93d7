# -*- test-case-name: tests.metrics -*-
"""
C{--metrics}: the service's counts in the Prometheus text format at
C{/metrics}, and the probes C{/healthz} and C{/readyz}, on a listener of
their own.

    - L{finger.metrics.tally}: the counts of one process, and what counts
      into them: the outcome of every request (L{finger.outcomes}, heard
      by the observer each front-end's lookup policy is built with), the
      connections each listener refuses (L{finger.net.limits}) and the
      failed logins (L{finger.auth.login});
    - L{finger.metrics.sampling}: what is read rather than counted, once
      a second: open connections, the back-end's users, its last read,
      whether it is ready;
    - L{finger.metrics.exposition}: the counts as C{prometheus_client}
      metrics, made when they are read;
    - L{finger.metrics.pages}: the resources of the listener;
    - L{finger.metrics.shared}: with C{--workers}, how the main process
      serves the counts of every worker together.

C{prometheus_client} is an optional dependency (C{finger[metrics]}); only
L{finger.metrics.exposition} and L{finger.metrics.pages} import it, and
only when C{--metrics} is given.
"""
