"""The Functions app: builds the DFApp and registers one blueprint per module, nothing else."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
