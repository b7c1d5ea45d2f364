// raffle page
