"""What runs in the background: the Dramatiq broker, its middleware, actors and the pipeline."""
