# Verify a Solaris 10 (or any Python-less) image at the end of its build: the collector runs
# on the guest, the bundle is downloaded, and toolsfix runs on the Packer host. The build fails
# when toolsfix finds something at or above var.fail_on, after the reports are written.
#
# Needs toolsfix on the Packer host (pip install, or set var.toolsfix to "python3 toolsfix.pyz").
#   packer build -var ssh_host=... toolsfix-collector.pkr.hcl
#
# The "null" source stands for your real one (vsphere-iso, vsphere-clone, ...).

variable "toolsfix" {
  type        = string
  default     = "toolsfix"
  description = "Command that runs toolsfix on the Packer host."
}

variable "fail_on" {
  type    = string
  default = "high"
  validation {
    condition     = contains(["info", "low", "medium", "high", "critical"], var.fail_on)
    error_message = "The fail_on value must be one of info, low, medium, high, critical."
  }
}

variable "report_dir" {
  type        = string
  default     = "toolsfix-reports"
  description = "Directory on the Packer host for the collector, the bundle and the reports."
}

variable "guest_tmp" {
  type    = string
  default = "/var/tmp"
}

variable "execute_command" {
  type        = string
  default     = "chmod +x {{ .Path }}; {{ .Vars }} {{ .Path }}"
  description = "How the guest steps run; the collector reads /kernel/drv and /etc, so use sudo or pfexec when the ssh user is not root."
}

variable "ssh_host" {
  type    = string
  default = "solaris10-template.example.net"
}

variable "ssh_username" {
  type    = string
  default = "root"
}

variable "ssh_password" {
  type      = string
  default   = ""
  sensitive = true
}

source "null" "solaris10" {
  communicator = "ssh"
  ssh_host     = var.ssh_host
  ssh_username = var.ssh_username
  ssh_password = var.ssh_password
  # Without a password, keys from the ssh agent are used.
  ssh_agent_auth = var.ssh_password == ""
}

build {
  sources = ["source.null.solaris10"]

  provisioner "shell-local" {
    inline = [
      "mkdir -p '${var.report_dir}'",
      "${var.toolsfix} collector > '${var.report_dir}/collect.sh'",
    ]
  }

  provisioner "file" {
    source      = "${var.report_dir}/collect.sh"
    destination = "${var.guest_tmp}/toolsfix-collect.sh"
    generated   = true # written by the shell-local step above
  }

  # Solaris 10's /bin/sh: the collector re-executes itself under /usr/xpg4/bin/sh.
  provisioner "shell" {
    execute_command = var.execute_command
    inline = [
      "rm -rf ${var.guest_tmp}/toolsfix-bundle ${var.guest_tmp}/toolsfix-bundle.tar ${var.guest_tmp}/toolsfix-bundle.tar.gz",
      "sh ${var.guest_tmp}/toolsfix-collect.sh -a ${var.guest_tmp}/toolsfix-bundle",
      "gzip -f ${var.guest_tmp}/toolsfix-bundle.tar",
    ]
  }

  provisioner "file" {
    direction   = "download"
    source      = "${var.guest_tmp}/toolsfix-bundle.tar.gz"
    destination = "${var.report_dir}/bundle.tar.gz"
  }

  provisioner "shell" {
    execute_command = var.execute_command
    inline = [
      "rm -rf ${var.guest_tmp}/toolsfix-bundle ${var.guest_tmp}/toolsfix-bundle.tar.gz ${var.guest_tmp}/toolsfix-collect.sh",
    ]
  }

  # Exit 1 (findings at or above fail_on) or 3 (not evaluable) fails the build; the reports
  # are written first.
  provisioner "shell-local" {
    inline = [
      "${var.toolsfix} verify --bundle '${var.report_dir}/bundle.tar.gz' --fail-on ${var.fail_on} -o junit:'${var.report_dir}/toolsfix-junit.xml' -o sarif:'${var.report_dir}/toolsfix.sarif'",
    ]
  }
}
