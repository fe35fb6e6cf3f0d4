"""Operations for admins: the state of background work (the job queue), its dead letters and
their retry."""
