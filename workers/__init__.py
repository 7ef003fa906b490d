"""What runs in the background: the Dramatiq broker and its middleware, the actors, each
process's runtime (its event loop and DocuWare client), the metrics and the pipeline."""
