# AlmaLinux OS 9 x86_64: the variables build-ami passes with packer-vars.
# region, source_ami and ami_name come from imgpub's inputs.
arch            = "x86_64"
version         = "9.6.20250522"
ami_description = "Official AlmaLinux OS 9.6 x86_64 image"
image_url       = "https://repo.almalinux.org/almalinux/9/cloud/x86_64/images/AlmaLinux-9-GenericCloud-latest.x86_64.raw"
volume_size     = 10
