"""Training: LoRA SFT with the Trainer (`sft`), pre-clip gradient norms per LoRA matrix (`gradnorm`),
where modules sit in a transformer (`architectures`), the realised weight update (`updates`), and the
summary of where training pressure went (`pressure`).

Submodules import torch and transformers; import them directly (`from memgap.training.sft import train_lora`).
"""
