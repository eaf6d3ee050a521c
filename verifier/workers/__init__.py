"""Workers: processes on one machine or many that share a night's checks through a
PostgreSQL history, leasing registrable domains (``queue``), holding a token for each host
they send to (``tokens``), and checking what they lease (``worker``)."""
