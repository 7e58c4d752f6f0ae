# Verify the VMware Tools install at the end of a Solaris 11 image build, and fail the build
# when toolsfix finds something at or above var.fail_on. The guest needs a python3 (Solaris
# 11.4 has one); for guests without Python use toolsfix-collector.pkr.hcl instead.
#
# The JUnit and SARIF reports are downloaded to var.report_dir before the build is failed,
# so the CI job that runs Packer can publish them either way. Nothing is left on the image.
#
# Build the zipapp first:  python integrations/zipapp/build.py -o toolsfix.pyz
# Then:                    packer build -var ssh_host=... toolsfix-verify.pkr.hcl
#
# The "null" source stands for your real one (vsphere-iso, vsphere-clone, ...): keep the
# build block's provisioners and point `sources` at it.

variable "toolsfix_pyz" {
  type        = string
  default     = "toolsfix.pyz"
  description = "The zipapp on the Packer host (integrations/zipapp/build.py)."
}

variable "fail_on" {
  type        = string
  default     = "high"
  description = "Lowest severity that fails the build: info, low, medium, high or critical."
  validation {
    condition     = contains(["info", "low", "medium", "high", "critical"], var.fail_on)
    error_message = "The fail_on value must be one of info, low, medium, high, critical."
  }
}

variable "report_dir" {
  type        = string
  default     = "toolsfix-reports"
  description = "Directory on the Packer host that receives toolsfix-junit.xml and toolsfix.sarif."
}

variable "guest_python" {
  type    = string
  default = "python3"
}

variable "guest_tmp" {
  type    = string
  default = "/var/tmp"
}

variable "execute_command" {
  type        = string
  default     = "chmod +x {{ .Path }}; {{ .Vars }} {{ .Path }}"
  description = "How the shell steps run; verify --live reads /kernel/drv and the install database, so use sudo or pfexec when the ssh user is not root."
}

variable "ssh_host" {
  type    = string
  default = "solaris-template.example.net"
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

source "null" "solaris" {
  communicator = "ssh"
  ssh_host     = var.ssh_host
  ssh_username = var.ssh_username
  ssh_password = var.ssh_password
  # Without a password, keys from the ssh agent are used.
  ssh_agent_auth = var.ssh_password == ""
}

build {
  sources = ["source.null.solaris"]

  provisioner "shell-local" {
    inline = ["mkdir -p '${var.report_dir}'"]
  }

  provisioner "file" {
    source      = var.toolsfix_pyz
    destination = "${var.guest_tmp}/toolsfix.pyz"
  }

  # Record the exit code instead of failing here, so the reports can be downloaded first.
  provisioner "shell" {
    execute_command = var.execute_command
    inline = [
      "rc=0",
      "${var.guest_python} ${var.guest_tmp}/toolsfix.pyz verify --live --fail-on ${var.fail_on} -o junit:${var.guest_tmp}/toolsfix-junit.xml -o sarif:${var.guest_tmp}/toolsfix.sarif || rc=$?",
      "echo $rc > ${var.guest_tmp}/toolsfix.rc",
    ]
  }

  provisioner "file" {
    direction   = "download"
    source      = "${var.guest_tmp}/toolsfix-junit.xml"
    destination = "${var.report_dir}/toolsfix-junit.xml"
  }

  provisioner "file" {
    direction   = "download"
    source      = "${var.guest_tmp}/toolsfix.sarif"
    destination = "${var.report_dir}/toolsfix.sarif"
  }

  # Exit codes: 0 clean, 1 findings at or above fail_on, 2 usage, 3 not evaluable.
  provisioner "shell" {
    execute_command = var.execute_command
    inline = [
      "rc=`cat ${var.guest_tmp}/toolsfix.rc`",
      "rm -f ${var.guest_tmp}/toolsfix.pyz ${var.guest_tmp}/toolsfix-junit.xml ${var.guest_tmp}/toolsfix.sarif ${var.guest_tmp}/toolsfix.rc",
      "if [ \"$rc\" != 0 ]; then echo \"toolsfix verify exited $rc (1 = findings at or above ${var.fail_on}); reports in ${var.report_dir}\" >&2; fi",
      "exit $rc",
    ]
  }
}
