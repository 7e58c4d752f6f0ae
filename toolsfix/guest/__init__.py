"""Guest facts: what a live guest, an image root or a collected bundle says about itself."""
