"""build-ami: make an AMI from a raw disk (EBS direct APIs) or with Packer, share and boot-test it."""
