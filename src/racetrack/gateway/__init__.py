"""The `/pub` gateway: authorizes each call with the control plane and forwards it to a job replica."""
