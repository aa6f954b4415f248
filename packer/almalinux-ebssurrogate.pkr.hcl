# An AlmaLinux-style EBS-surrogate build for imgpub build-ami (x86_64 and aarch64).
#
# The builder boots the newest base AMI (imgpub finds it and passes source_ami), attaches
# an empty gp3 volume, writes the raw disk image at image_url onto it, snapshots that
# volume and registers the AMI from it: ENA, IMDSv2 required, gp3, uefi-preferred on
# x86_64 and uefi on aarch64, as AlmaLinux's own builds. Works with Packer 1.6.6 (builders
# compiled in; `packer validate` needs no credentials) and current Packer after
# `packer init` of the amazon plugin (see plugins.pkr.hcl.example).
#
# imgpub passes: region, source_ami and ami_name (-var), the endpoint of the EC2 API when
# one is configured (PKR_VAR_ec2_endpoint) and your packer-vars.

variable "region" {
  type = string
}

variable "source_ami" {
  type        = string
  description = "The base AMI to boot (imgpub: source-ami, or the newest match of source-ami-name)."
}

variable "ami_name" {
  type = string
}

variable "ami_description" {
  type    = string
  default = ""
}

variable "arch" {
  type        = string
  default     = "x86_64"
  description = "x86_64 or aarch64 (the AlmaLinux spelling; the EC2 architecture is derived)."
}

variable "version" {
  type    = string
  default = ""
}

variable "image_url" {
  type        = string
  default     = ""
  description = "The raw (optionally .xz) disk image the provisioner writes onto the new volume."
}

variable "instance_type" {
  type    = string
  default = ""
}

variable "communicator" {
  type        = string
  default     = "ssh"
  description = "ssh on AWS; none for a rehearsal against a local EC2 (nothing is written)."
}

variable "ssh_username" {
  type    = string
  default = "ec2-user"
}

variable "volume_size" {
  type    = number
  default = 10
}

variable "ec2_endpoint" {
  type        = string
  default     = ""
  description = "A custom EC2 endpoint (a local rehearsal); empty on AWS."
}

locals {
  aarch64       = var.arch == "aarch64"
  ec2_arch      = local.aarch64 ? "arm64" : "x86_64"
  instance_type = var.instance_type != "" ? var.instance_type : (local.aarch64 ? "t4g.medium" : "t3.medium")
  local_ec2     = var.ec2_endpoint != ""
}

source "amazon-ebssurrogate" "almalinux" {
  region        = var.region
  source_ami    = var.source_ami
  instance_type = local.instance_type
  communicator  = var.communicator
  ssh_username  = var.ssh_username

  custom_endpoint_ec2        = var.ec2_endpoint
  skip_region_validation     = local.local_ec2
  skip_credential_validation = local.local_ec2
  skip_metadata_api_check    = local.local_ec2

  ami_name                = var.ami_name
  ami_description         = var.ami_description
  ami_virtualization_type = "hvm"
  ami_architecture        = local.ec2_arch
  ena_support             = true
  sriov_support           = true
  # Packer 1.6.6 knows neither boot_mode, imds_support nor metadata_options, so this file
  # leaves them out to validate with both. With the amazon plugin (>= 1.3) add:
  #   boot_mode    = local.aarch64 ? "uefi" : "uefi-preferred"
  #   imds_support = "v2.0"

  launch_block_device_mappings {
    device_name           = "/dev/sdb"
    volume_size           = var.volume_size
    volume_type           = "gp3"
    iops                  = 3000
    throughput            = 125
    delete_on_termination = true
  }

  ami_root_device {
    source_device_name    = "/dev/sdb"
    device_name           = "/dev/sda1"
    volume_size           = var.volume_size
    volume_type           = "gp3"
    delete_on_termination = true
  }

  tags = {
    Name         = var.ami_name
    Version      = var.version
    Architecture = var.arch
    ManagedBy    = "imgpub"
  }
  snapshot_tags = {
    Name      = var.ami_name
    ManagedBy = "imgpub"
  }
}

build {
  sources = ["source.amazon-ebssurrogate.almalinux"]

  provisioner "shell" {
    # Without a communicator (a rehearsal against a local EC2) nothing can be written.
    except           = var.communicator == "none" ? ["amazon-ebssurrogate.almalinux"] : []
    environment_vars = ["IMAGE_URL=${var.image_url}"]
    inline = [
      "set -euo pipefail",
      "test -n \"$IMAGE_URL\" || { echo 'set image_url' >&2; exit 1; }",
      "target=$(lsblk -dnpo NAME,SERIAL | awk '$2 ~ /vol/ {print $1}' | tail -n1)",
      "target=$${target:-/dev/nvme1n1}",
      "case \"$IMAGE_URL\" in *.xz) curl -fsSL --retry 5 \"$IMAGE_URL\" | xz -d | sudo dd of=\"$target\" bs=4M conv=sparse,fsync ;; *) curl -fsSL --retry 5 \"$IMAGE_URL\" | sudo dd of=\"$target\" bs=4M conv=sparse,fsync ;; esac",
      "sync",
    ]
  }

  post-processor "manifest" {
    output     = "packer-manifest.json"
    strip_path = true
    custom_data = {
      ami_name = var.ami_name
      version  = var.version
      arch     = var.arch
    }
  }
}
