// Placeholder until the traceroute sample lands (issue 8).
Console.Error.WriteLine("traceroute: not built yet");
return 1;
