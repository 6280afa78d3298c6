namespace Kumo.Provider.Tests.Inventory;

/// <summary>
/// Outputs of nvidia-smi and /proc files as real machines print them (formats as of drivers 470-550), written down
/// for the parser tests. UUIDs and bus ids are made up in the real shapes.
/// </summary>
internal static class CapturedOutputs
{
    public const string EightH100 = """
        0, NVIDIA H100 80GB HBM3, 81559, GPU-9d1a4f1e-3b2c-4f6a-8e7d-1c2b3a4d5e60, 550.54.15, 00000000:18:00.0
        1, NVIDIA H100 80GB HBM3, 81559, GPU-9d1a4f1e-3b2c-4f6a-8e7d-1c2b3a4d5e61, 550.54.15, 00000000:2A:00.0
        2, NVIDIA H100 80GB HBM3, 81559, GPU-9d1a4f1e-3b2c-4f6a-8e7d-1c2b3a4d5e62, 550.54.15, 00000000:3A:00.0
        3, NVIDIA H100 80GB HBM3, 81559, GPU-9d1a4f1e-3b2c-4f6a-8e7d-1c2b3a4d5e63, 550.54.15, 00000000:5D:00.0
        4, NVIDIA H100 80GB HBM3, 81559, GPU-9d1a4f1e-3b2c-4f6a-8e7d-1c2b3a4d5e64, 550.54.15, 00000000:9A:00.0
        5, NVIDIA H100 80GB HBM3, 81559, GPU-9d1a4f1e-3b2c-4f6a-8e7d-1c2b3a4d5e65, 550.54.15, 00000000:AB:00.0
        6, NVIDIA H100 80GB HBM3, 81559, GPU-9d1a4f1e-3b2c-4f6a-8e7d-1c2b3a4d5e66, 550.54.15, 00000000:BA:00.0
        7, NVIDIA H100 80GB HBM3, 81559, GPU-9d1a4f1e-3b2c-4f6a-8e7d-1c2b3a4d5e67, 550.54.15, 00000000:DB:00.0

        """;

    public const string FourA100 = """
        0, NVIDIA A100-SXM4-40GB, 40960, GPU-3e1b5c7d-0a2f-11ee-9b4c-0242ac120000, 535.129.03, 00000000:07:00.0
        1, NVIDIA A100-SXM4-40GB, 40960, GPU-3e1b5c7d-0a2f-11ee-9b4c-0242ac120001, 535.129.03, 00000000:0F:00.0
        2, NVIDIA A100-SXM4-40GB, 40960, GPU-3e1b5c7d-0a2f-11ee-9b4c-0242ac120002, 535.129.03, 00000000:47:00.0
        3, NVIDIA A100-SXM4-40GB, 40960, GPU-3e1b5c7d-0a2f-11ee-9b4c-0242ac120003, 535.129.03, 00000000:4E:00.0

        """;

    public const string OneRtx4090 = "0, NVIDIA GeForce RTX 4090, 24564, GPU-6b2a9e4c-5d1f-8a73-c0e2-94b1d7f3a258, 545.29.06, 00000000:01:00.0\n";

    /// <summary>A home-lab box: three generations, odd spacing as some drivers pad columns.</summary>
    public const string Mixed = """
        0, NVIDIA GeForce RTX 3090,  24576, GPU-0f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0, 535.183.01, 00000000:01:00.0
        1,   NVIDIA RTX A6000 , 49140 , GPU-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809 , 535.183.01 , 00000000:21:00.0
        2, Tesla T4, 15360, GPU-a0b1c2d3-e4f5-0617-2839-4a5b6c7d8e9f, 535.183.01, 00000000:41:00.0

        """;

    /// <summary>A vGPU guest where the driver leaves some fields unavailable.</summary>
    public const string WithNotAvailable = """
        0, NVIDIA A10G, 23028, GPU-2c4e6a8b-1d3f-5a7c-9e0b-2d4f6a8c0e1a, [N/A], [N/A]
        1, NVIDIA A10G, [N/A], GPU-2c4e6a8b-1d3f-5a7c-9e0b-2d4f6a8c0e1b, 535.104.05, 00000000:00:1F.0

        """;

    public const string Garbage = """
        NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.
        0, NVIDIA GeForce RTX 4090, 24564, GPU-6b2a9e4c-5d1f-8a73-c0e2-94b1d7f3a258, 545.29.06, 00000000:01:00.0
        x, NVIDIA GeForce RTX 4090, 24564, GPU-6b2a9e4c-5d1f-8a73-c0e2-94b1d7f3a259, 545.29.06, 00000000:02:00.0
        1, NVIDIA GeForce RTX 4090, lots, GPU-6b2a9e4c-5d1f-8a73-c0e2-94b1d7f3a25a, 545.29.06, 00000000:03:00.0
        2, NVIDIA GeForce RTX 4090, 24564, not-a-uuid, 545.29.06, 00000000:04:00.0
        0, NVIDIA GeForce RTX 4090, 24564, GPU-6b2a9e4c-5d1f-8a73-c0e2-94b1d7f3a258, 545.29.06, 00000000:01:00.0
        """;

    public const string BannerH100 = """
        Tue Mar 12 10:15:42 2024
        +-----------------------------------------------------------------------------------------+
        | NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |
        |-----------------------------------------+------------------------+----------------------+
        | GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
        | Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |
        |                                         |                        |               MIG M. |
        |=========================================+========================+======================|
        |   0  NVIDIA H100 80GB HBM3          On  |   00000000:18:00.0 Off |                    0 |
        | N/A   33C    P0             71W /  700W |       1MiB /  81559MiB |      0%      Default |
        |                                         |                        |             Disabled |
        +-----------------------------------------+------------------------+----------------------+

        +-----------------------------------------------------------------------------------------+
        | Processes:                                                                              |
        |  GPU   GI   CI        PID   Type   Process name                            GPU Memory |
        |        ID   ID                                                             Usage      |
        |=========================================================================================|
        |  No running processes found                                                             |
        +-----------------------------------------------------------------------------------------+
        """;

    /// <summary>The older (470-era) banner layout.</summary>
    public const string BannerOld = """
        Mon Jan  8 09:00:01 2024
        +-----------------------------------------------------------------------------+
        | NVIDIA-SMI 470.223.02   Driver Version: 470.223.02   CUDA Version: 11.4     |
        |-------------------------------+----------------------+----------------------+
        """;

    public const string BannerNoCuda = """
        +-----------------------------------------------------------------------------------------+
        | NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: N/A      |
        |-----------------------------------------+------------------------+----------------------+
        """;

    public const string CpuInfoTwoSocketsWithSmt = """
        processor	: 0
        vendor_id	: GenuineIntel
        model name	: Intel(R) Xeon(R) Platinum 8480+
        physical id	: 0
        siblings	: 4
        core id		: 0
        cpu cores	: 2

        processor	: 1
        model name	: Intel(R) Xeon(R) Platinum 8480+
        physical id	: 0
        core id		: 1

        processor	: 2
        model name	: Intel(R) Xeon(R) Platinum 8480+
        physical id	: 0
        core id		: 0

        processor	: 3
        model name	: Intel(R) Xeon(R) Platinum 8480+
        physical id	: 0
        core id		: 1

        processor	: 4
        model name	: Intel(R) Xeon(R) Platinum 8480+
        physical id	: 1
        core id		: 0

        processor	: 5
        model name	: Intel(R) Xeon(R) Platinum 8480+
        physical id	: 1
        core id		: 1

        """;

    public const string CpuInfoArm = """
        processor	: 0
        BogoMIPS	: 50.00
        Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
        CPU implementer	: 0x41
        CPU architecture: 8
        CPU part	: 0xd0c

        processor	: 1
        BogoMIPS	: 50.00
        CPU implementer	: 0x41

        Hardware	: BCM2835
        Model		: Raspberry Pi 4 Model B Rev 1.4
        """;

    public const string MemInfo = """
        MemTotal:       263842204 kB
        MemFree:        250112000 kB
        MemAvailable:   258000000 kB
        """;

    public const string OsRelease = """
        PRETTY_NAME="Ubuntu 22.04.4 LTS"
        NAME="Ubuntu"
        VERSION_ID="22.04"
        VERSION="22.04.4 LTS (Jammy Jellyfish)"
        ID=ubuntu
        """;
}
