// Real-peer tests share one kernel and two CPUs: namespaces, TAPs, the kernel's ICMP rate limits, and bulk transfers.
// Run them one at a time so that one test's load or rate limit never decides another's outcome.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
