"""Background work: the Dramatiq broker set-up, the actors, the relay and the scheduler."""
